"""Time: the tempo map (beats <-> seconds), frame rates and the frame timeline, exact rationals."""

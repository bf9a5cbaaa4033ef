"""The scene model: every visual object of a project as a pure function of time."""

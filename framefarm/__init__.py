"""The framefarm command line.

The services themselves live in common/, farm_worker/, stitcher/ and coordinator/.
"""

"""The framefarm command line; the services live in common/, farm_worker/, stitcher/, coordinator/."""

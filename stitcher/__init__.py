"""The stitcher: assemble rendered frames into a video file with ffmpeg."""

"""The project format and export settings the music app sends, and their validation."""

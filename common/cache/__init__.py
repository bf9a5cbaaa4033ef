"""The content-addressed cache of frames, segments and soundtracks: keys computed from what
decides each artefact's bytes, so a re-export reuses whatever its edit did not touch."""

"""Faces: 68-point landmarks (dlib, fan), alignment to a canonical face, tracking and smoothing over frames,
blending translated crops back, the video stages, and `faces extract` (aligned crops + alignments JSON)."""

"""Video: probe, decode, stages, encode, over ffmpeg pipes.

- ffmpeg and ffprobe come from PATH when present; else the ffmpeg binary of the imageio-ffmpeg wheel is used
  (it ships no ffprobe, so ``probe`` then reads ``ffmpeg -i`` and scans the packets' timestamps instead).
- The frame rate is an exact rational everywhere (25, 30000/1001). A variable-frame-rate source is decoded with
  passthrough timing, so every frame comes out once (ffmpeg's default for a raw pipe is to duplicate and drop
  frames to a constant rate), and is written at its average rate; a warning gives the largest drift.
- Rotation is applied once, by the decoder; the output carries no rotation of its own.
- Colour: the source's matrix, range, primaries and transfer are used to decode to RGB and carried to the
  output (untagged sources are read as a player would show them: BT.709 from 720 lines up, else BT.601).
- Odd sizes: H.264 in 4:2:0 needs even sides, so the writer pads one column/row by repeating the edge
  (``pad`` + ``fillborders=smear``); ``--codec ffv1`` and ``h264-lossless`` (4:4:4) keep the exact size.
- Audio is stream-copied from the source (every track); it is re-encoded to AAC only when the output container
  cannot hold the codec. A source without audio is fine.
- Outputs are written to a hidden temporary name in the target folder and renamed when complete; on any
  failure the temporary file is removed.

One module per job: ffmpeg (locating it, its errors, pipes), probe, reader, writer, frames (what flows between
stages), stages (the registry), runner, pipelines (YAML), framefiles (frames on disk).
"""

"""Probe a video: ffprobe JSON when present, else ``ffmpeg -i`` stderr plus a packet scan; frame rates and colours."""
from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

import ffmpeg  # ffmpeg-python builds the packet scan's command line (its probe needs ffprobe: not used)

from translate.errors import UserError
from translate.video.ffmpeg import (
    QUIET,
    _check_input_file,
    compile_command,
    ffmpeg_error_line,
    find_ffmpeg,
    find_ffprobe,
)
from translate.video.frames import StreamInfo

# ---------------------------------------------------------------------------------------------- probe


_NTSC = [Fraction(k * 1000, 1001) for k in (24, 30, 48, 60, 120, 240)]


def parse_rate(text: str | None) -> Fraction | None:
    """'30000/1001', '25', '29.97', '1k' -> Fraction; None for 0/0, N/A or junk."""
    if not text:
        return None
    text = str(text).strip()
    try:
        if text.endswith("k"):
            value = Fraction(text[:-1]) * 1000
        else:
            value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return value if 0 < value < 10**9 else None  # above that it is junk (and no longer a float)


def standard_rate(value: Fraction | float) -> Fraction | None:
    """The standard rate (integer, half-integer or NTSC k*1000/1001) that a 2-decimal print stands for, if any."""
    x = float(value)
    for cand in _NTSC:
        if abs(x - float(cand)) < 0.006:
            return cand
    for cand in (Fraction(round(x)), Fraction(round(2 * x), 2)):
        if cand > 0 and abs(x - float(cand)) < 0.006:
            return cand
    return None


def snap_rate(value: Fraction | float) -> Fraction:
    """A rate printed with two decimals (ffmpeg -i says '29.97 fps') back to the exact rational it stands for."""
    return standard_rate(value) or Fraction(float(value)).limit_denominator(1001)


def parse_time(text: str | float | None) -> float | None:
    """'90', '1:30', '00:01:30.5' -> seconds."""
    if text is None or text == "":
        return None
    if isinstance(text, (int, float)):
        return float(text)
    parts = str(text).strip().split(":")
    try:
        seconds = 0.0
        for part in parts:
            seconds = seconds * 60 + float(part)
    except ValueError:
        raise UserError(f"'{text}' is not a time; use seconds (90.5) or [HH:]MM:SS[.ms]") from None
    if seconds < 0:
        raise UserError(f"'{text}' is a negative time")
    return seconds


def _bit_depth(pix_fmt: str | None) -> int:
    if not pix_fmt:
        return 8
    m = re.search(r"(\d{2})(le|be)$", pix_fmt) or re.search(r"^p0(\d{2})", pix_fmt)
    if m:
        return int(m.group(1))
    return 8


def _display_size(width: int, height: int, rotation: int) -> tuple[int, int]:
    return (height, width) if rotation % 180 == 90 else (width, height)


def _clean(value) -> str | None:
    if value in (None, "", "unknown", "unspecified", "reserved", "N/A"):
        return None
    return str(value)


def _float(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if v == v else None  # NaN -> None


def info_from_ffprobe_json(data: dict, path: str | None = None) -> StreamInfo:
    """StreamInfo from ``ffprobe -show_streams -show_format -of json`` output (no KeyError on missing fields)."""
    streams = data.get("streams") or []
    fmt = data.get("format") or {}
    video = next((s for s in streams if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")), None)
    if video is None:
        raise UserError(f"{path}: has no video stream")
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    rotation = 0
    for sd in video.get("side_data_list") or []:
        if "rotation" in sd:
            rotation = int(round(-float(sd["rotation"]))) % 360
    if not rotation and (video.get("tags") or {}).get("rotate"):
        rotation = int(float(video["tags"]["rotate"])) % 360
    coded_w, coded_h = int(video.get("width") or 0), int(video.get("height") or 0)
    if not coded_w or not coded_h:
        raise UserError(f"{path}: the video stream has no frame size; the file is damaged")
    width, height = _display_size(coded_w, coded_h, rotation)
    r_rate, avg_rate = parse_rate(video.get("r_frame_rate")), parse_rate(video.get("avg_frame_rate"))
    fps = avg_rate or r_rate
    if fps is None:
        raise UserError(f"{path}: the frame rate is unknown; the file is damaged")
    nb = video.get("nb_frames")
    frame_count = int(nb) if nb not in (None, "", "N/A") and str(nb).isdigit() and int(nb) > 0 else None
    duration = _float(video.get("duration")) or _float(fmt.get("duration"))
    pix_fmt = video.get("pix_fmt")
    bits = video.get("bits_per_raw_sample")
    return StreamInfo(
        width=width,
        height=height,
        fps=fps,
        frame_count=frame_count,
        duration=duration,
        has_audio=bool(audio),
        audio_codec=audio[0].get("codec_name") if audio else None,
        audio_sample_rate=int(audio[0]["sample_rate"]) if audio and str(audio[0].get("sample_rate", "")).isdigit() else None,
        audio_channels=audio[0].get("channels") if audio else None,
        video_codec=video.get("codec_name"),
        pix_fmt=pix_fmt,
        bit_depth=int(bits) if str(bits or "").isdigit() else _bit_depth(pix_fmt),
        rotation=rotation,
        color_space=_clean(video.get("color_space")),
        color_range=_clean(video.get("color_range")),
        color_primaries=_clean(video.get("color_primaries")),
        color_transfer=_clean(video.get("color_transfer")),
        vfr=bool(r_rate and avg_rate and r_rate != avg_rate),  # a hint; the packet scan decides
        start_time=_float(video.get("start_time")) or 0.0,
        container=fmt.get("format_name"),
        tags={str(k): str(v) for k, v in (fmt.get("tags") or {}).items()},
        path=path,
    )


# colour names as `ffmpeg -i` prints them: one name when matrix, primaries and transfer share an enum value
_SAME_VALUE = {
    "bt709": ("bt709", "bt709"),
    "fcc": ("bt470m", "gamma22"),
    "bt470bg": ("bt470bg", "gamma28"),
    "smpte170m": ("smpte170m", "smpte170m"),
    "smpte240m": ("smpte240m", "smpte240m"),
    "bt2020nc": ("bt2020", "bt2020-10"),
    "bt2020c": ("jedec-p22", "bt2020-12"),
}


def _split_top(text: str) -> list[str]:
    """Split on ', ' outside parentheses and brackets."""
    out, depth, cur = [], 0, []
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur).strip())
    return out


def info_from_ffmpeg_stderr(text: str, path: str | None = None) -> StreamInfo:
    """StreamInfo from what ``ffmpeg -i FILE`` prints (fps here is only as exact as the print; see probe)."""
    video_line = audio_line = None
    rotation = 0
    tags: dict[str, str] = {}
    lines = text.splitlines()
    in_video = False
    for i, line in enumerate(lines):
        s = line.strip()
        if re.match(r"Stream #\d+:\d+.*?: Video:", s):
            if video_line is None and "attached pic" not in s:
                video_line, in_video = s, True
            else:
                in_video = False
        elif re.match(r"Stream #\d+:\d+.*?: ", s):
            in_video = False
            if ": Audio:" in s and audio_line is None:
                audio_line = s
        elif in_video:
            m = re.search(r"rotation of (-?[\d.]+) degrees", s, re.IGNORECASE)
            degrees = _float(m.group(1)) if m else None
            if degrees is not None and abs(degrees) < 1e6:
                rotation = int(round(-degrees)) % 360
            m = re.match(r"rotate\s*:\s*(-?\d{1,9})\b", s)
            if m and not rotation:
                rotation = int(m.group(1)) % 360
    # container tags: the "Metadata:" block right under "Input #0"
    for i, line in enumerate(lines):
        if line.startswith("Input #"):
            j = i + 1
            if j < len(lines) and lines[j].strip() == "Metadata:":
                j += 1
                while j < len(lines) and lines[j].startswith("    ") and ":" in lines[j]:
                    key, _, value = lines[j].strip().partition(":")
                    tags[key.strip()] = value.strip()
                    j += 1
            break
    if video_line is None:
        raise UserError(f"{path}: has no video stream")
    parts = _split_top(video_line.split(": Video:", 1)[1])
    codec = next(iter(parts[0].split()), None) if parts else None  # "Video: , ..." has an empty codec
    pix_fmt = color_range = color_space = primaries = transfer = None
    width = height = 0
    fps = tbr = None
    for part in parts[1:]:
        m = re.match(r"^(\d{1,9})x(\d{1,9})\b", part)
        if m and not width:
            width, height = int(m.group(1)), int(m.group(2))
            continue
        m = re.match(r"^([\d.]+k?) (fps|tbr)\b", part)
        if m:
            if m.group(2) == "fps":
                fps = parse_rate(m.group(1))
            else:
                tbr = parse_rate(m.group(1))
            continue
        m = re.match(r"^([a-z0-9_]+)(?:\((.*)\))?$", part)
        if m and pix_fmt is None and not re.match(r"^\d", part):
            pix_fmt = m.group(1)
            for item in _split_top(m.group(2) or ""):
                if item in ("tv", "pc"):
                    color_range = item
                elif "/" in item:
                    color_space, primaries, transfer = (_clean(x) for x in (item.split("/") + [None, None])[:3])
                elif item in _SAME_VALUE:
                    color_space = item
                    primaries, transfer = _SAME_VALUE[item]
    if not width or not height:
        raise UserError(f"{path}: the video stream has no frame size; the file is damaged")
    rate = fps or tbr
    if rate is None:
        raise UserError(f"{path}: the frame rate is unknown; the file is damaged")
    m = re.search(r"Duration: (\d{1,9}):(\d{1,9}):([\d.]+)", text)
    seconds = _float(m.group(3)) if m else None
    duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + seconds if seconds is not None else None
    m = re.search(r"Duration:.*?start: (-?[\d.]+)", text)
    start = (_float(m.group(1)) if m else None) or 0.0
    m = re.search(r"Input #\d+, ([^ ]+), from", text)
    container = m.group(1).rstrip(",") if m else None
    audio_codec = sample_rate = channels = None
    if audio_line:
        aparts = _split_top(audio_line.split(": Audio:", 1)[1])
        audio_codec = next(iter(aparts[0].split()), None) if aparts else None
        for part in aparts[1:]:
            m = re.match(r"^(\d{1,9}) Hz", part)
            if m:
                sample_rate = int(m.group(1))
            channels = channels or {"mono": 1, "stereo": 2, "5.1": 6, "5.1(side)": 6, "7.1": 8}.get(part)
    w, h = _display_size(width, height, rotation)
    return StreamInfo(
        width=w,
        height=h,
        fps=snap_rate(rate),
        frame_count=None,
        duration=duration,
        has_audio=audio_line is not None,
        audio_codec=audio_codec,
        audio_sample_rate=sample_rate,
        audio_channels=channels,
        video_codec=codec,
        pix_fmt=pix_fmt,
        bit_depth=_bit_depth(pix_fmt),
        rotation=rotation,
        color_space=_clean(color_space),
        color_range=color_range,
        color_primaries=_clean(primaries),
        color_transfer=_clean(transfer),
        start_time=start,
        container=container,
        tags=tags,
        path=path,
    )


@dataclass
class PacketScan:
    """Timestamps of every video packet (from ``ffmpeg -c copy -f framecrc``, which decodes nothing)."""

    count: int
    time_base: Fraction
    pts: list[int]  # presentation order
    end: int | None  # max(pts + duration)
    damaged: str | None = None  # ffmpeg's complaint when the file is truncated/corrupt


def scan_packets(path: str | Path, exe: str | None = None) -> PacketScan:
    out = ffmpeg.input(str(path))["v:0"].output("-", c="copy", format="framecrc")
    cmd = compile_command(out, exe or find_ffmpeg(), *QUIET)
    proc = subprocess.run(cmd, capture_output=True)
    err = proc.stderr.decode("utf-8", "replace").splitlines()
    if proc.returncode != 0:
        raise UserError(f"{path}: not a readable video ({ffmpeg_error_line(err)})")
    time_base = Fraction(1, 1)
    pts: list[int] = []
    end = None
    ok = True
    for line in proc.stdout.decode("ascii", "replace").splitlines():
        if line.startswith("#tb 0:"):
            time_base = Fraction(line.split(":", 1)[1].strip())
            continue
        if line.startswith("#") or not line.strip():
            continue
        cols = [c.strip() for c in line.split(",")]
        if len(cols) < 5:
            continue
        try:
            p, d = int(cols[2]), int(cols[3])
        except ValueError:  # NOPTS
            ok = False
            pts.append(0)
            continue
        pts.append(p)
        end = p + d if end is None else max(end, p + d)
    damaged = next((ffmpeg_error_line([l]) for l in err if "partial file" in l or "corrupt" in l.lower() or "invalid" in l.lower()), None)
    return PacketScan(count=len(pts), time_base=time_base, pts=sorted(pts) if ok else [], end=end if ok else None, damaged=damaged)


def _apply_scan(info: StreamInfo, scan: PacketScan, nominal: Fraction | None) -> StreamInfo:
    """Exact frame count, average rate and drift from the packets' timestamps."""
    if scan.damaged:
        raise UserError(f"{info.path}: the file is truncated or damaged ({scan.damaged}); re-download or re-mux it")
    if scan.count == 0:
        raise UserError(f"{info.path}: the video stream holds no frames")
    info = info.replace(frame_count=scan.count)
    if not scan.pts:
        return info
    n = scan.count
    first, last = scan.pts[0], scan.pts[-1]
    if scan.end is not None and scan.end > last:  # packet durations known: the span includes the last frame
        intervals, span = n, (scan.end - first) * scan.time_base
    else:
        intervals, span = n - 1, (last - first) * scan.time_base
    if intervals <= 0 or span <= 0:
        return info
    average = Fraction(intervals) / span
    fps = average
    # the nominal rate is exact when it explains the measured span to within two ticks of the time base
    if nominal and abs(intervals / nominal - span) <= 2 * scan.time_base:
        fps = nominal
    elif average.denominator > 1_000_000:
        fps = average.limit_denominator(1_000_000)
    times = (np.asarray(scan.pts, dtype=np.int64) - first) * float(scan.time_base)
    deviation = np.abs(times - np.arange(n) / float(fps))
    at = int(deviation.argmax())
    drift = float(deviation[at])
    vfr = drift > 0.5 / float(fps)
    return info.replace(fps=fps, vfr=vfr, max_drift=drift if vfr else 0.0, max_drift_frame=at if vfr else None,
                        duration=float(n / fps))


def probe_audio(path: str | Path) -> str | None:
    """The codec of the first audio stream of any media file (a video, or audio alone: wav, mp3, m4a), or None."""
    path = _check_input_file(path)
    proc = subprocess.run([find_ffmpeg(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True)
    text = proc.stderr.decode("utf-8", "replace")
    if "Input #" not in text:
        raise UserError(f"{path}: not a readable media file ({ffmpeg_error_line(text.splitlines())})")
    m = re.search(r"Stream #\S+.*?: Audio: (\w+)", text)
    return m.group(1) if m else None


def probe(path: str | Path, scan: bool | None = None) -> StreamInfo:
    """Describe the first video stream of ``path`` (and whether it has audio).

    ``scan``: read every packet's timestamp (no decoding) for an exact frame count, the average rate of a
    variable-frame-rate source and its drift. None (default) scans when ffprobe is missing, when the container
    states no frame count, or when its nominal and average rates differ.
    Raises UserError with one line for a missing, empty, truncated or non-video file.
    """
    path = _check_input_file(path)
    exe = find_ffmpeg()
    ffprobe = find_ffprobe()
    nominal = None
    if ffprobe:
        cmd = [ffprobe, "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)]
        proc = subprocess.run(cmd, capture_output=True)
        if proc.returncode != 0:
            raise UserError(f"{path}: not a readable video ({ffmpeg_error_line(proc.stderr.decode('utf-8', 'replace').splitlines())})")
        try:
            data = json.loads(proc.stdout.decode("utf-8", "replace") or "{}")
        except json.JSONDecodeError:
            raise UserError(f"{path}: ffprobe gave unreadable output; the file is damaged") from None
        info = info_from_ffprobe_json(data, str(path))
        video = next((s for s in data.get("streams", []) if s.get("codec_type") == "video"), {})
        nominal = parse_rate(video.get("r_frame_rate"))
        if nominal and nominal > 1000:
            nominal = None
        need_scan = info.frame_count is None or info.vfr
    else:
        # `ffmpeg -i FILE` with no output prints the streams and exits (no graph: ffmpeg-python needs an output)
        proc = subprocess.run([exe, "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True)
        text = proc.stderr.decode("utf-8", "replace")
        if "Input #" not in text:
            raise UserError(f"{path}: not a readable video ({ffmpeg_error_line(text.splitlines())})")
        info = info_from_ffmpeg_stderr(text, str(path))
        nominal = standard_rate(info.fps)  # a print like '16.67 fps' is not exact: the timestamps decide
        need_scan = True
    if scan if scan is not None else need_scan:
        info = _apply_scan(info.replace(vfr=False), scan_packets(path, exe), nominal)
    return info


# ---------------------------------------------------------------------------------------------- colour

_MATRIX_FOR_SWS = {"bt709": "bt709", "smpte170m": "smpte170m", "bt470bg": "bt470", "fcc": "fcc",
                   "smpte240m": "smpte240m", "bt2020nc": "bt2020", "bt2020c": "bt2020"}
_DEFAULT_PRIMARIES = {"bt709": "bt709", "smpte170m": "smpte170m", "bt470bg": "bt470bg", "fcc": "bt470m",
                      "smpte240m": "smpte240m", "bt2020nc": "bt2020", "bt2020c": "bt2020"}
_DEFAULT_TRANSFER = {"bt709": "bt709", "smpte170m": "smpte170m", "bt470bg": "gamma28", "fcc": "gamma22",
                     "smpte240m": "smpte240m", "bt2020nc": "bt709", "bt2020c": "bt709"}


def resolve_colors(info: StreamInfo) -> StreamInfo:
    """Fill untagged colour properties the way a player would show the source (BT.709 from 720 lines up)."""
    space = info.color_space if info.color_space in _MATRIX_FOR_SWS else None
    if space is None:
        space = "bt709" if min(info.width, info.height) >= 720 or max(info.width, info.height) >= 1280 else "smpte170m"
    rng = info.color_range if info.color_range in ("tv", "pc") else ("pc" if (info.pix_fmt or "").startswith("yuvj") else "tv")
    if info.pix_fmt and (info.pix_fmt.startswith(("rgb", "bgr", "gbr", "argb", "abgr")) or info.pix_fmt in ("pal8", "gray")):
        rng = info.color_range or "pc"
    return info.replace(
        color_space=space,
        color_range=rng,
        color_primaries=info.color_primaries or _DEFAULT_PRIMARIES[space],
        color_transfer=info.color_transfer or _DEFAULT_TRANSFER[space],
    )


def _is_rgb_source(info: StreamInfo) -> bool:
    return bool(info.pix_fmt) and info.pix_fmt.startswith(("rgb", "bgr", "gbr", "argb", "abgr", "0rgb", "pal8"))

"""YAML pipelines: find, parse and override saved chains of stages."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from translate.errors import UserError
from translate.video.runner import ChainSpec
from translate.video.stages import builder_for, stage_options

# ---------------------------------------------------------------------------------------------- YAML files


PIPELINES_DIR = Path(__file__).resolve().parents[1] / "pipelines"


def find_pipeline(spec: str | Path) -> Path:
    """A YAML file, or the name of one shipped in translate/pipelines ('upscale')."""
    path = Path(spec)
    if path.is_file():
        return path
    for candidate in (PIPELINES_DIR / f"{spec}.yaml", PIPELINES_DIR / str(spec)):
        if candidate.is_file():
            return candidate
    shipped = sorted(p.stem for p in PIPELINES_DIR.glob("*.yaml"))
    raise UserError(f"{spec}: no such pipeline file; shipped pipelines: {', '.join(shipped) or 'none'}")


def _parse_value(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError):  # ValueError: a date that does not exist (2001-02-30)
        return text


def apply_overrides(chain: ChainSpec, overrides: list[str]) -> ChainSpec:
    """``stage.option=value`` (the first stage of that name) or ``N.option=value`` (0-based position)."""
    chain = [(name, dict(opts)) for name, opts in chain]
    for item in overrides:
        key, sep, raw = item.partition("=")
        stage_key, dot, option = key.strip().rpartition(".")
        if not sep or not dot or not option:
            raise UserError(f"--set {item!r}: write stage.option=value, e.g. translate.tile=256")
        if stage_key.isdigit():
            pos = int(stage_key)
            if pos >= len(chain):
                raise UserError(f"--set {item!r}: the pipeline has {len(chain)} stages (0..{len(chain) - 1})")
        else:
            pos = next((i for i, (name, _) in enumerate(chain) if name == stage_key), None)
            if pos is None:
                raise UserError(f"--set {item!r}: no stage '{stage_key}' in this pipeline ({', '.join(n for n, _ in chain)})")
        name = chain[pos][0]
        if option not in stage_options(name):
            raise UserError(f"--set {item!r}: stage '{name}' has no option '{option}'; options: {', '.join(stage_options(name))}")
        chain[pos][1][option] = _parse_value(raw)
    return chain


def parse_chain_yaml(data: Any, source: str = "pipeline") -> ChainSpec:
    stages = data.get("stages") if isinstance(data, dict) else data
    if not isinstance(stages, list) or not stages:
        raise UserError(f"{source}: expected a 'stages:' list like [{{read: {{}}}}, {{translate: {{model: srgan}}}}, {{write: {{}}}}]")
    chain: ChainSpec = []
    for entry in stages:
        if isinstance(entry, str):
            chain.append((entry, {}))
        elif isinstance(entry, dict) and len(entry) == 1:
            name, opts = next(iter(entry.items()))
            if opts is not None and not isinstance(opts, dict):
                raise UserError(f"{source}: options of stage '{name}' must be a mapping")
            chain.append((str(name), dict(opts or {})))
        else:
            raise UserError(f"{source}: each stage is 'name' or 'name: {{options}}', got {entry!r}")
    chain = _insert_temporal(chain, data.get("temporal") if isinstance(data, dict) else None, source)
    for name, opts in chain:
        builder_for(name)
        unknown = [k for k in opts if k not in stage_options(name)]
        if unknown:
            raise UserError(f"{source}: stage '{name}' has no option {', '.join(map(repr, unknown))}; "
                            f"options: {', '.join(stage_options(name))}")
    return chain


def _insert_temporal(chain: ChainSpec, temporal: Any, source: str) -> ChainSpec:
    """The top-level ``temporal:`` key (true, or the stabilize stage's options) puts a stabilize stage right
    after the last translate stage, as `translate video --temporal` does (before blend with faces)."""
    if temporal is None or temporal is False:
        return chain
    if temporal is not True and not isinstance(temporal, dict):
        raise UserError(f"{source}: 'temporal' is true, false or the stabilize options, e.g. {{strength: 0.6}}")
    last = max((i for i, (name, _) in enumerate(chain) if name == "translate"), default=None)
    if last is None:
        raise UserError(f"{source}: 'temporal' needs a translate stage to follow")
    options = dict(temporal) if isinstance(temporal, dict) else {}
    return [*chain[:last + 1], ("stabilize", options), *chain[last + 1:]]


def load_pipeline(path: str | Path, overrides: list[str] | None = None) -> ChainSpec:
    """Read a saved chain (YAML) and apply ``key=value`` overrides."""
    import yaml

    path = find_pipeline(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise UserError(f"{path}: not valid YAML ({(str(e).splitlines() or [type(e).__name__])[0]})") from None
    return apply_overrides(parse_chain_yaml(data, str(path)), list(overrides or []))

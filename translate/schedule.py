"""The reference's learning-rate plan: constant, then linear decay, never reaching zero.

factor(u) = 1 - max(0, u + 1 - n_const) / (n_decay + 1), u counted from 0, where the unit u is the
epoch (``--epochs/--decay-epochs``, as the reference) or the optimizer step (``--steps``). The last unit
runs at lr / (n_decay + 1), as the reference's last epoch does.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Schedule:
    unit: str  # "epoch" or "step"
    n_const: int
    n_decay: int
    steps_per_epoch: int

    @property
    def total_steps(self) -> int:
        per_unit = self.steps_per_epoch if self.unit == "epoch" else 1
        return (self.n_const + self.n_decay) * per_unit

    def unit_of(self, step: int) -> int:
        """The 0-based epoch/step the optimizer step ``step`` (0-based) belongs to."""
        return step // self.steps_per_epoch if self.unit == "epoch" else step

    def factor(self, step: int) -> float:
        u = self.unit_of(step)
        return 1.0 - max(0, u + 1 - self.n_const) / float(self.n_decay + 1)

    def to_dict(self) -> dict:
        return asdict(self)


def plan_schedule(steps: int | None, epochs: int, decay_epochs: int, steps_per_epoch: int,
                  decay_fraction: float = 0.5) -> Schedule:
    """--steps S: constant for S - round(S * decay_fraction) steps, then linear decay; else epochs as the reference."""
    if steps is not None:
        n_decay = int(round(steps * decay_fraction))
        return Schedule("step", steps - n_decay, n_decay, steps_per_epoch)
    return Schedule("epoch", epochs, decay_epochs, steps_per_epoch)

"""The learning-rate plan is the reference's formula."""
from translate.schedule import plan_schedule


def test_reference_epoch_schedule():
    s = plan_schedule(None, epochs=100, decay_epochs=100, steps_per_epoch=10)
    assert s.total_steps == 2000
    assert s.factor(0) == 1.0 and s.factor(999) == 1.0  # epoch 99: still constant
    assert abs(s.factor(1000) - (1 - 1 / 101)) < 1e-12  # epoch 100: first decay epoch
    assert abs(s.factor(1999) - 1 / 101) < 1e-12  # last epoch runs at lr/101, never 0
    assert s.factor(1005) == s.factor(1000)  # stepped once per epoch


def test_step_schedule_halves():
    s = plan_schedule(100, 0, 0, steps_per_epoch=7)
    assert s.total_steps == 100 and s.n_const == 50 and s.n_decay == 50
    assert s.factor(49) == 1.0 and abs(s.factor(99) - 1 / 51) < 1e-12
    assert s.factor(60) < s.factor(59)

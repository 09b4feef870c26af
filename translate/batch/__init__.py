"""Many inputs: the job file, the local pool and the Ray engine behind `translate batch` (run.run_batch)."""

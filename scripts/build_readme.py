"""Assemble README.md from the section files under docs/ (one file per topic, in reading order)."""
from pathlib import Path

SECTIONS = ["README-core.md", "README-video.md", "README-batch.md", "README-sr-discogan.md", "README-faces.md", "README-weights.md",
            "README-detector.md", "README-ui.md", "README-performance.md", "README-dev.md"]

root = Path(__file__).resolve().parents[1]
parts = [(root / "docs" / s).read_text().strip() for s in SECTIONS if (root / "docs" / s).exists()]
(root / "README.md").write_text("\n\n".join(parts) + "\n")
print(f"README.md: {len(parts)} sections")

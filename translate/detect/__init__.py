"""The generated-content detector: features, aggregation, calibration, regions and reports.

    features.py   fixed SRM high-pass residuals and the radial log power spectrum (torch, batched)
    crops.py      which regions of a frame are scored (faces with a 1.3x margin, else whole image or tiles)
    aggregate.py  per-frame scores -> one video score (DFDC confident-frames rule scaled to n frames)
    calibrate.py  temperature scaling and the threshold at a stated false-positive rate
    report.py     table, JSON report, per-frame plot, provenance line (apart from the score)
    data.py       (image, label) training set with the degradations real uploads suffer
The network itself is translate/nets/detector.py (registered as "detector").

This package's __init__ imports nothing on purpose: translate.nets.detector imports detect.features, so
anything imported here would be loaded by (and must not import) translate.nets.
"""

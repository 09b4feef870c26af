"""Metrics (PSNR/SSIM, LPIPS, FID/KID, warping error, AUC/AP) and the library behind the `translate eval` commands:
one file per metric or command."""

"""Evaluation on folder-per-person datasets: verification, clustering, detection rate."""

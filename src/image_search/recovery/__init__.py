"""The recovery center: failed assets grouped by cause, with guidance, retry and ignore."""

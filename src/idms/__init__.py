"""idms: an open-source data management suite for iMIS."""

__version__ = "0.1.0"

"""The current-state assessment (現状評価): `shuyaku assess`."""

from shuyaku.assess.analyse import assess
from shuyaku.contracts.assessment import Assessment

__all__ = ["Assessment", "assess"]

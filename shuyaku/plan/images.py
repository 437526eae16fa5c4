"""Images tenants may boot, per zone, and the image a legacy OS family migrates to. Data, in one place."""

from __future__ import annotations

# Supported releases only: a migration is the moment to leave end-of-life OS versions behind.
ALL = ("debian-12", "rhel-9", "ubuntu-24.04", "windows-server-2022")

ZONE_IMAGES: dict[str, tuple[str, ...]] = {
    "mynumber": ALL,
    "lgwan": ALL,
    "internet": ALL,
    "shared": ALL,
}

TARGET_IMAGE: dict[str, str] = {
    "windows_server": "windows-server-2022",
    "rhel": "rhel-9",
    "centos": "rhel-9",
    "almalinux": "rhel-9",
    "ubuntu": "ubuntu-24.04",
    "debian": "debian-12",
}
DEFAULT_IMAGE = "rhel-9"


def target_image(os_family: str, layer: str) -> str:
    image = TARGET_IMAGE.get(os_family, DEFAULT_IMAGE)
    allowed = ZONE_IMAGES.get(layer, ALL)
    return image if image in allowed else allowed[0]

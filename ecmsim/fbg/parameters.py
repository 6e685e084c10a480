"""Parameters of the virtual FBG: the grating, the light source and the interrogator.

Plain frozen dataclasses that validate their values on construction (SI units, the unit in
every name; a bare name is dimensionless). This module imports only the standard library, so
that ``ecmsim fbg --help`` can list every key without loading numpy.

Keys on the command line are ``<section>.<field>``, e.g. ``--set grating.length_m=0.01``;
:func:`from_settings` builds the three records from such a mapping. An invalid value raises
:class:`~ecmsim.core.errors.ScenarioError` naming the key, the value and the allowed range::

    grating.length_m = -0.01: must be in (0, 1] [m]
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from ecmsim.core.errors import ScenarioError

#: Bounds of the numeric keys: (low, high, low inclusive, high inclusive, unit).
_BOUNDS: dict[str, tuple[float, float, bool, bool, str]] = {
    "grating.length_m": (0.0, 1.0, False, True, "m"),
    # the strain-optic constants of the library are for the near infrared; 0.4-2 um covers
    # every silica FBG band in use
    "grating.design_wavelength_m": (0.4e-6, 2.0e-6, True, True, "m"),
    "grating.delta_n": (0.0, 1e-2, False, True, "-"),
    "grating.visibility": (0.0, 1.0, False, True, "-"),
    "grating.gaussian_fwhm_m": (0.0, 1.0, False, True, "m"),
    "grating.centre_m": (-math.inf, math.inf, False, False, "m"),
    "grating.reference_temperature_K": (0.0, 2000.0, False, True, "K"),
    "grating.sections": (1, 100_000, True, True, "-"),
    "source.polarisation_angle_rad": (-2 * math.pi, 2 * math.pi, True, True, "rad"),
    "interrogator.resolution_m": (1e-15, 1e-9, True, True, "m"),
    "interrogator.start_m": (0.4e-6, 2.0e-6, True, True, "m"),
    "interrogator.stop_m": (0.4e-6, 2.0e-6, True, True, "m"),
    "interrogator.margin_m": (0.0, 100e-9, True, True, "m"),
    "interrogator.noise_rms": (0.0, 1.0, True, True, "-"),
    "interrogator.seed": (0, 2**63 - 1, True, True, "-"),
    "interrogator.threshold_fraction": (0.0, 1.0, True, False, "-"),
    "interrogator.prominence_fraction": (0.0, 1.0, True, False, "-"),
    "interrogator.track_max_jump_m": (0.0, 1e-6, False, True, "m"),
}

APODIZATIONS = ("uniform", "gaussian", "raised_cosine")


def _check(key: str, value: Any) -> None:
    """Raise ScenarioError unless ``value`` is a finite number inside the bounds of ``key``."""
    lo, hi, lo_in, hi_in, unit = _BOUNDS[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ScenarioError(f"{key} = {value!r}: must be a finite number [{unit}]")
    ok_lo = value >= lo if lo_in else value > lo
    ok_hi = value <= hi if hi_in else value < hi
    if not (ok_lo and ok_hi):
        rng = f"{'[' if lo_in else '('}{lo:g}, {hi:g}{']' if hi_in else ')'}"
        raise ScenarioError(f"{key} = {value!r}: must be in {rng} [{unit}]")


@dataclass(frozen=True)
class Grating:
    """A fibre Bragg grating as written, before any load.

    Attributes:
        length_m: grating length L [m]; 10 mm as in the reference cells ([P] Experimental).
        design_wavelength_m: unloaded peak wavelength lambda_D at ``reference_temperature_K``
            [m]. The period is Lambda = lambda_D / (2 n_eff), with n_eff the fibre's effective
            index *including* the mean (DC) index change of the grating, so that the unloaded
            reflection peak lies at lambda_D with no +dn/n offset.
        delta_n: mean (DC) index change of the grating, dn-bar of Erdogan (1997) eq. 2 [-];
            1e-4 is a typical UV-written sensor grating (R_max ~ 0.93 over 10 mm).
        visibility: fringe visibility v [-]; the AC modulation is v * delta_n, the coupling
            kappa = pi v delta_n g(z) / lambda (Erdogan 1997 eq. 16).
        apodization: ``"uniform"`` (g = 1), ``"gaussian"``:
            g(z) = exp(-4 ln2 ((z - z_c) / FWHM)^2) (Erdogan 1997, Fig. 5 example), or
            ``"raised_cosine"``: g(z) = (1 + cos(2 pi (z - z_c) / L)) / 2.
        gaussian_fwhm_m: FWHM of the Gaussian apodization [m]; None means L / 2.
        dc_apodized: False (default): only the AC modulation follows g(z), the DC index is
            constant along the grating (DC-compensated apodization; the peak stays at lambda_D).
            True: the DC index change follows g(z) too, n(z) = n_eff - delta_n (1 - g(z)), as
            for a plain UV exposure with a varying dose; the wings then sit at shorter
            wavelengths (Erdogan 1997, Fig. 6).
        centre_m: position of the grating centre on the profile's z axis [m]; None means the
            middle of the profile's z range.
        reference_temperature_K: temperature at which the unloaded peak is lambda_D [K].
        sections: number of uniform sections of the transfer matrix; None chooses
            L / (50 Lambda), at most 2000 (see :func:`ecmsim.fbg.optics.section_count`).
    """

    length_m: float = 10e-3
    design_wavelength_m: float = 1550e-9
    delta_n: float = 1e-4
    visibility: float = 1.0
    apodization: str = "uniform"
    gaussian_fwhm_m: float | None = None
    dc_apodized: bool = False
    centre_m: float | None = None
    reference_temperature_K: float = 293.15
    sections: int | None = None

    def __post_init__(self) -> None:
        for name in ("length_m", "design_wavelength_m", "delta_n", "visibility",
                     "reference_temperature_K"):
            _check(f"grating.{name}", getattr(self, name))
        for name in ("gaussian_fwhm_m", "centre_m"):
            if getattr(self, name) is not None:
                _check(f"grating.{name}", getattr(self, name))
        if self.apodization not in APODIZATIONS:
            raise ScenarioError(f"grating.apodization = {self.apodization!r}: must be one of "
                                f"{', '.join(APODIZATIONS)}")
        if not isinstance(self.dc_apodized, bool):
            raise ScenarioError(f"grating.dc_apodized = {self.dc_apodized!r}: must be true or false")
        if self.sections is not None:
            if isinstance(self.sections, bool) or not isinstance(self.sections, int):
                raise ScenarioError(f"grating.sections = {self.sections!r}: must be a whole number")
            _check("grating.sections", self.sections)

    @property
    def fwhm_m(self) -> float:
        """FWHM of the Gaussian apodization [m] (L / 2 unless set)."""
        return self.gaussian_fwhm_m if self.gaussian_fwhm_m is not None else 0.5 * self.length_m


@dataclass(frozen=True)
class Source:
    """The light sent into the fibre.

    Attributes:
        polarisation_angle_rad: None for unpolarised light (the reflected power is the mean of
            the two polarisation eigenmodes, R = (R_x + R_y) / 2); otherwise the angle psi [rad]
            of a linearly polarised source from the fibre's x axis, R = cos^2(psi - phi) R_x +
            sin^2(psi - phi) R_y with phi the mean principal-axis angle along the grating.
    """

    polarisation_angle_rad: float | None = None

    def __post_init__(self) -> None:
        if self.polarisation_angle_rad is not None:
            _check("source.polarisation_angle_rad", self.polarisation_angle_rad)


@dataclass(frozen=True)
class Interrogator:
    """A swept-laser interrogator (LUNA Si255-like) reading the reflected spectrum.

    Attributes:
        resolution_m: wavelength step of the sampled spectrum [m]; 1 pm is the accuracy and
            resolution of the reference paper's LUNA Si255 ([P] Experimental).
        start_m, stop_m: wavelength window [m]; None sets it from the local Bragg wavelengths
            along the grating, widened by ``margin_m`` on each side.
        margin_m: widening of the automatic window on each side [m].
        noise_rms: RMS of white Gaussian noise added to the measured reflectance R [-]
            (0: noiseless). R_x and R_y stay the noiseless model values.
        seed: seed of the noise generator (a time series uses seed + step index).
        threshold_fraction: a peak must reach this fraction of the spectrum's maximum [-]; 0.35
            lies above the side lobes of a uniform grating up to kappa L = 3 (0.30 of its peak;
            0.17 at the default kappa L = 2.03). Lower it to see weak components of an apodized
            grating.
        prominence_fraction: a peak must stand out from its surroundings by this fraction
            of the spectrum's maximum (scipy.signal.find_peaks prominence), and by 5 noise_rms [-].
        track_max_jump_m: a peak of a time series belongs to the track of the previous
            step's nearest peak if it moved by less than this [m]; else it starts a new track.
    """

    resolution_m: float = 1e-12
    start_m: float | None = None
    stop_m: float | None = None
    margin_m: float = 1e-9
    noise_rms: float = 0.0
    seed: int = 0
    threshold_fraction: float = 0.35
    prominence_fraction: float = 0.05
    track_max_jump_m: float = 0.1e-9

    def __post_init__(self) -> None:
        for name in ("resolution_m", "margin_m", "noise_rms", "seed", "threshold_fraction",
                     "prominence_fraction", "track_max_jump_m"):
            _check(f"interrogator.{name}", getattr(self, name))
        if isinstance(self.seed, float):
            raise ScenarioError(f"interrogator.seed = {self.seed!r}: must be a whole number")
        for name in ("start_m", "stop_m"):
            if getattr(self, name) is not None:
                _check(f"interrogator.{name}", getattr(self, name))
        if (self.start_m is None) != (self.stop_m is None):
            raise ScenarioError("interrogator.start_m and interrogator.stop_m: set both or neither")
        if self.start_m is not None and not self.stop_m > self.start_m + 2 * self.resolution_m:
            raise ScenarioError(f"interrogator.stop_m = {self.stop_m!r}: must exceed interrogator.start_m "
                                f"= {self.start_m!r} by more than two steps of interrogator.resolution_m")


_SECTIONS: dict[str, type] = {"grating": Grating, "source": Source, "interrogator": Interrogator}
#: Keys that are not grating/source/interrogator fields but choose the fibre record.
_OTHER_KEYS = {"fibre.material": "silica"}


def known_keys() -> list[str]:
    """Every settable key, ``section.field``."""
    keys = [f"{s}.{f.name}" for s, cls in _SECTIONS.items() for f in fields(cls)]
    return [*keys, *_OTHER_KEYS]


def parse_assignment(item: str) -> tuple[str, Any]:
    """``"grating.length_m=0.01"`` -> ("grating.length_m", 0.01); the value is read as TOML
    (numbers, true/false, quoted strings), else kept as a bare string."""
    if "=" not in item:
        raise ScenarioError(f"--set {item!r}: expected SECTION.KEY=VALUE")
    key, raw = (s.strip() for s in item.split("=", 1))
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def from_settings(settings: Mapping[str, Any] | Iterable[str]) -> tuple[Grating, Source, Interrogator, str]:
    """The grating, source, interrogator and fibre material key from ``section.key`` settings.

    ``settings`` is a mapping or a list of ``key=value`` strings (``--set`` items). Integers
    are accepted for float keys; ``unset`` (or ``none``) resets an optional key to its default.
    """
    if not isinstance(settings, Mapping):
        settings = dict(parse_assignment(item) for item in settings)
    known = known_keys()
    chosen: dict[str, dict[str, Any]] = {s: {} for s in _SECTIONS}
    fibre = _OTHER_KEYS["fibre.material"]
    for key, value in settings.items():
        if key not in known:
            raise ScenarioError(f"unknown key '{key}' (known: {', '.join(known)})")
        if isinstance(value, str) and value.lower() in ("unset", "none", "unpolarised", "unpolarized", "auto"):
            value = None
        section, name = key.split(".", 1)
        if section == "fibre":
            if not isinstance(value, str):
                raise ScenarioError(f"{key} = {value!r}: must be a material key such as silica")
            fibre = value
            continue
        chosen[section][name] = _coerce(key, value)
    return (Grating(**chosen["grating"]), Source(**chosen["source"]),
            Interrogator(**chosen["interrogator"]), fibre)


def _coerce(key: str, value: Any) -> Any:
    """Whole numbers for float keys become floats; numbers for int keys must be whole."""
    if key in ("grating.sections", "interrogator.seed") and isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ScenarioError(f"{key} = {value!r}: must be a whole number")
    if key in _BOUNDS and isinstance(value, int) and not isinstance(value, bool) \
            and key not in ("grating.sections", "interrogator.seed"):
        return float(value)
    if key in _BOUNDS and isinstance(value, str):
        raise ScenarioError(f"{key} = {value!r}: must be a number [{_BOUNDS[key][4]}]")
    return value


def as_dict(grating: Grating, source: Source, interrogator: Interrogator, fibre: str) -> dict[str, Any]:
    """All parameters as ``{section: {key: value}}`` (for summary.json)."""
    return {"grating": asdict(grating), "source": asdict(source),
            "interrogator": asdict(interrogator), "fibre": {"material": fibre}}


#: What an unset optional key means, and the choices of the text keys (for --help).
_NOTES = {
    "grating.apodization": "uniform | gaussian | raised_cosine",
    "grating.gaussian_fwhm_m": "unset: length / 2",
    "grating.dc_apodized": "true: the DC index follows the apodization too",
    "grating.centre_m": "unset: the middle of the profile's z range",
    "grating.sections": "unset: length / (50 periods), at most 2000",
    "source.polarisation_angle_rad": "unset: unpolarised",
    "interrogator.start_m": "unset: local Bragg wavelengths - margin",
    "interrogator.stop_m": "unset: local Bragg wavelengths + margin",
    "fibre.material": "a record of `ecmsim materials`",
}


def _toml(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else repr(value)


def describe_keys() -> str:
    """One line per key with its default, unit and meaning when unset (``ecmsim fbg --help``)."""
    lines = []
    defaults = {f"{section}.{f.name}": getattr(cls(), f.name)
                for section, cls in _SECTIONS.items() for f in fields(cls)}
    for key, value in {**defaults, **_OTHER_KEYS}.items():
        unit = f" [{_BOUNDS[key][4]}]" if key in _BOUNDS else ""
        note = f"  ({_NOTES[key]})" if key in _NOTES else ""
        lines.append(f"  {key} = {_toml(value)}{unit}{note}")
    return "\n".join(lines)

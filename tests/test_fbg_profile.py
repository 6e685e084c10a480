"""Strain profiles: exact section means, CSV round trip, time series, bad input, parameters."""

import numpy as np
import pytest

from ecmsim.core.errors import InputFileError, ScenarioError
from ecmsim.fbg import Grating, StrainProfile, read_profiles
from ecmsim.fbg.optics import Fibre, section_count
from ecmsim.fbg.parameters import from_settings
from ecmsim.fbg.profile import read_profile_csv
from ecmsim.fbg.sensor import grating_sections

HEADER = "z_m,exx,eyy,ezz,exy,exz,eyz,T_K\n"


def test_section_means_are_exact_integrals():
    """Means of the piecewise-linear profile over sections, against a fine trapezoid rule."""
    z = np.array([0.0, 1e-3, 2.5e-3, 7e-3, 10e-3])
    exx = np.array([0.0, 2e-4, -1e-4, 3e-4, 0.0])
    profile = StrainProfile(z_m=z, exx=exx, eyy=0.0, ezz=0.0)
    edges = np.linspace(0.4e-3, 9.9e-3, 8)
    means = profile.section_means(edges)["exx"]
    for a, b, m in zip(edges[:-1], edges[1:], means):
        fine = np.linspace(a, b, 20001)
        f = np.interp(fine, z, exx)
        assert abs(np.trapezoid(f, fine) / (b - a) - m) < 1e-12
    assert profile.section_means(edges)["T_K"] is None


def test_csv_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    z = np.sort(rng.uniform(0, 0.01, 9))
    cols = rng.normal(0, 1e-4, (6, 9))
    profile = StrainProfile(z, *cols, T_K=rng.uniform(290, 340, 9), source="x")
    path = tmp_path / "p.csv"
    profile.write_csv(path)
    (back,) = read_profile_csv(path)
    for name in ("z_m", "exx", "eyy", "ezz", "exy", "exz", "eyz", "T_K"):
        assert np.array_equal(getattr(back, name), getattr(profile, name)), name


def test_optional_columns_default_and_step_column_splits(tmp_path):
    path = tmp_path / "series.csv"
    path.write_text("# a comment line\nstep,z_m,exx,eyy,ezz\n"
                    "2,0,1e-4,0,0\n2,0.01,1e-4,0,0\n1,0,0,0,0\n1,0.01,0,0,0\n")
    profiles = read_profile_csv(path)
    assert [p.step for p in profiles] == [1, 2]
    assert np.array_equal(profiles[1].exx, [1e-4, 1e-4])
    assert np.array_equal(profiles[0].exy, [0.0, 0.0]) and profiles[0].T_K is None


def test_directories_and_globs_in_natural_order(tmp_path):
    for i in (10, 2, 1):
        StrainProfile.uniform(0.01, ezz=i * 1e-5).write_csv(tmp_path / f"step{i}.csv")
    by_dir = read_profiles(tmp_path)
    by_glob = read_profiles(str(tmp_path / "step*.csv"))
    for profiles in (by_dir, by_glob):
        assert [p.ezz[0] for p in profiles] == [1e-5, 2e-5, 10e-5]


BAD_FILES = {
    "missing column": ("z_m,exx,eyy\n0,0,0\n0.01,0,0\n", r"missing column ezz"),
    "non-numeric": (HEADER + "0,0,0,0,0,0,0,300\n0.01,abc,0,0,0,0,0,300\n", r"line 3: column exx = 'abc' is not a number"),
    "NaN": (HEADER + "0,0,0,0,0,0,0,300\n0.01,0,nan,0,0,0,0,300\n", r"line 3: column eyy = 'nan': must be a finite"),
    "z not increasing": (HEADER + "0,0,0,0,0,0,0,300\n0.01,0,0,0,0,0,0,300\n0.005,0,0,0,0,0,0,300\n",
                         r"line 4: z_m = 0.005 does not increase"),
    "unknown column": ("z_m,exx,eyy,ezz,e_xy\n0,0,0,0,0\n0.01,0,0,0,0\n", r"unknown column 'e_xy'"),
    "short row": (HEADER + "0,0,0,0,0,0,0,300\n0.01,0,0\n", r"line 3: 3 fields, the header has 8"),
    "one point": (HEADER + "0,0,0,0,0,0,0,300\n", r"at least two points"),
    "no rows": (HEADER, r"no data rows"),
    "empty": ("", r"empty profile file"),
    "strain too large": (HEADER + "0,0,0,0.2,0,0,0,300\n0.01,0,0,0,0,0,0,300\n", r"ezz = 0.2 .* \[-0.05, 0.05\]"),
    "negative temperature": (HEADER + "0,0,0,0,0,0,0,-3\n0.01,0,0,0,0,0,0,300\n", r"T_K = -3.0 .* must be in"),
    "fractional step": ("step,z_m,exx,eyy,ezz\n0.5,0,0,0,0\n0.5,0.01,0,0,0\n", r"step = 0.5 is not a whole number"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_profile_files_are_clear_errors(tmp_path, case):
    text, pattern = BAD_FILES[case]
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputFileError, match=pattern) as err:
        read_profiles(path)
    assert str(path) in str(err.value)


def test_missing_file_and_empty_directory(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        read_profiles(tmp_path / "nope.csv")
    with pytest.raises(InputFileError, match="no \\*.csv"):
        read_profiles(tmp_path)
    with pytest.raises(InputFileError, match="no file matches"):
        read_profiles(str(tmp_path / "x*.csv"))


def test_profile_shorter_than_the_grating(tmp_path):
    path = tmp_path / "short.csv"
    StrainProfile.uniform(6e-3).write_csv(path)
    (profile,) = read_profiles(path)
    with pytest.raises(InputFileError, match=r"short.csv: z_m covers 0-0.006 m .* shorter than the grating"):
        grating_sections(profile, Grating(length_m=10e-3), Fibre.from_material())
    with pytest.raises(InputFileError, match="grating.centre_m"):
        grating_sections(profile, Grating(length_m=5e-3, centre_m=1e-3), Fibre.from_material())
    grating_sections(profile, Grating(length_m=5e-3, centre_m=3e-3), Fibre.from_material())


def test_sections_respect_many_periods_per_section():
    fibre = Fibre.from_material()
    period = 1550e-9 / (2 * fibre.effective_index)
    auto = section_count(Grating(), fibre)
    assert 10e-3 / auto >= 50 * period * (1 - 1e-9)
    assert section_count(Grating(sections=1000), fibre) == 1000
    with pytest.raises(ScenarioError, match=r"grating.sections = 5000: .* at most 1870"):
        section_count(Grating(sections=5000), fibre)


@pytest.mark.parametrize("items, pattern", [
    (["grating.length=0.01"], r"unknown key 'grating.length'"),
    (["grating.length_m=-0.01"], r"grating.length_m = -0.01: must be in \(0, 1\] \[m\]"),
    (["grating.delta_n=abc"], r"grating.delta_n = 'abc': must be a number"),
    (["grating.apodization=hann"], r"grating.apodization = 'hann': must be one of uniform, gaussian"),
    (["grating.sections=2.5"], r"grating.sections = 2.5: must be a whole number"),
    (["interrogator.start_m=1.5e-6"], r"set both or neither"),
    (["grating.length_m"], r"expected SECTION.KEY=VALUE"),
])
def test_bad_settings_are_clear_errors(items, pattern):
    with pytest.raises(ScenarioError, match=pattern):
        from_settings(items)


def test_settings_parse_units_and_types():
    grating, source, interrogator, fibre = from_settings(
        ["grating.length_m=5e-3", "grating.sections=100", "source.polarisation_angle_rad=0.5",
         "interrogator.resolution_m=2e-12", "grating.apodization=gaussian", "grating.gaussian_fwhm_m=unset"])
    assert grating.length_m == 5e-3 and grating.sections == 100 and grating.apodization == "gaussian"
    assert source.polarisation_angle_rad == 0.5 and interrogator.resolution_m == 2e-12 and fibre == "silica"
    assert grating.fwhm_m == 2.5e-3


def test_profiles_built_in_python_are_validated_too():
    """The mechanics side builds profiles from arrays: the same checks, naming the source."""
    z = np.array([0.0, 0.005, 0.01])
    with pytest.raises(InputFileError, match=r"fe-run: exx = nan at point 2"):
        StrainProfile(z_m=z, exx=[0.0, np.nan, 0.0], eyy=0.0, ezz=0.0, source="fe-run")
    with pytest.raises(InputFileError, match=r"fe-run: z_m must increase strictly"):
        StrainProfile(z_m=z[::-1], exx=0.0, eyy=0.0, ezz=0.0, source="fe-run")
    profile = StrainProfile(z_m=z, exx=1e-4, eyy=0.0, ezz=0.0)         # scalars broadcast along z
    assert np.array_equal(profile.exx, [1e-4] * 3) and np.array_equal(profile.eyz, [0.0] * 3)

"""The materials library: values, units in names, a source per value, range checks."""

import math

import pytest

from ecmsim import materials
from ecmsim.core.errors import MaterialError


def test_reference_paper_values():
    # Li et al., Adv. Mater. 2025: AFM moduli and the fibre constants of eq. 1-2
    assert materials.get("Li").youngs_modulus_Pa == pytest.approx(4.9e9)
    assert materials.get("LiSn").youngs_modulus_Pa == pytest.approx(5.9e9)
    assert materials.get("PLL").youngs_modulus_Pa == pytest.approx(380e6)
    silica = materials.get("silica")
    assert (silica.youngs_modulus_Pa, silica.poissons_ratio) == (69.9e9, 0.17)
    assert (silica.get("effective_index"), silica.get("p11"), silica.get("p12")) == (1.45, 0.113, 0.252)
    # the paper gives Li-Sn Li's Poisson ratio
    assert materials.get("LiSn").poissons_ratio == materials.get("Li").poissons_ratio


def test_every_value_has_a_source_and_required_records_exist():
    lib = materials.library()
    for key in ("Li", "Li-bulk", "LiSn", "PLL", "LLZO", "LPSCl", "silica"):
        assert key in lib
    for key, m in lib.items():
        for name in ("youngs_modulus_Pa", "poissons_ratio", *m.properties):
            assert m.sources.get(name, "").strip(), f"{key}.{name} has no source"


def test_lame_parameters_reproduce_E_and_nu():
    for m in materials.library().values():
        lam, mu = m.lame_lambda_Pa, m.lame_mu_Pa
        E = mu * (3 * lam + 2 * mu) / (lam + mu)
        nu = lam / (2 * (lam + mu))
        assert math.isclose(E, m.youngs_modulus_Pa, rel_tol=1e-12)
        assert math.isclose(nu, m.poissons_ratio, rel_tol=1e-12)


def test_bulk_li_shear_modulus_consistent_with_isotropy():
    # Masias et al. 2019 measured E, G and nu independently; they should agree with E = 2G(1+nu)
    li = materials.get("Li-bulk")
    assert li.lame_mu_Pa == pytest.approx(li.get("shear_modulus_Pa"), rel=0.01, abs=0)


@pytest.mark.parametrize("table, fragment", [
    ({"youngs_modulus_Pa": -1.0, "poissons_ratio": 0.3}, "youngs_modulus_Pa"),
    ({"youngs_modulus_Pa": 1e9, "poissons_ratio": 0.5}, "poissons_ratio"),
    ({"youngs_modulus_Pa": float("nan"), "poissons_ratio": 0.3}, "not a finite number"),
    ({"poissons_ratio": 0.3}, "lacks 'youngs_modulus_Pa'"),
])
def test_bad_records_are_refused(table, fragment):
    with pytest.raises(MaterialError, match=fragment):
        materials.from_mapping(table)


def test_unknown_material_lists_known_ones():
    with pytest.raises(MaterialError, match="known: Li"):
        materials.get("Lithium")
    with pytest.raises(MaterialError, match="has no 'p44'"):
        materials.get("silica").get("p44")

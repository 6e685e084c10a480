"""The fibre in the cell (architecture level D) and its read-out over time.

- :mod:`~ecmsim.fibre.cell`: one cross-section of the cell normal to the fibre: stack pressure and
  embedded state -> contact tractions on the fibre -> core strain.
- :mod:`~ecmsim.fibre.model`: the cell of a scenario along the grating (one solve per distinct
  state) -> strain profile -> spectrum through :mod:`ecmsim.fbg`.
- :mod:`~ecmsim.fibre.readout`: an interface window's history through the cycles -> the fibre's
  spectra over time.

:mod:`ecmsim.fbg` is the sensor itself (strain profile -> spectrum -> peaks) and needs no dolfinx;
this package is where the finite-element cell hands it the strains.
"""

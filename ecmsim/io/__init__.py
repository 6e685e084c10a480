"""Results on disk: result folders that never lose a user's file, summary.json, fields for
ParaView, figures, time series, and reading a result folder back.

- :mod:`~ecmsim.io.folders`: staging, manifests, refusal of foreign files (docs/outputs.md).
- :mod:`~ecmsim.io.summary`: summary.json and provenance.
- :mod:`~ecmsim.io.vtu`: fields as VTU/PVD (and VTX).
- :mod:`~ecmsim.io.plots`, :mod:`~ecmsim.io.history`: PNG figures, history.csv, field time series.
- :mod:`~ecmsim.io.results`: ``ecmsim.results.load(DIR)``.
"""

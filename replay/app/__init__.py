"""The application: the one layer that wires the core, the learners and the simulator together.

The command line (:mod:`~livereplay.app.cli`, :mod:`~livereplay.app.simulate`), one run
(:mod:`~livereplay.app.runner`), comparisons (:mod:`~livereplay.app.compare`), tuning
(:mod:`~livereplay.app.tune`), sweeps on processes or Ray (:mod:`~livereplay.app.executors`),
closed-loop sweeps (:mod:`~livereplay.app.closed_loop`), tables (:mod:`~livereplay.app.tables`)
and plots (:mod:`~livereplay.app.plots`). Nothing below this package imports it.
"""

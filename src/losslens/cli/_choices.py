"""Names shown in help texts, spelled out here so that ``--help`` needs neither torch nor sympy.

``tests/cli/test_startup.py`` checks each tuple against the library's own table.
"""
OPTIMIZER_METHODS = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "newton",
                     "saddle-free-newton", "perturbed-gd")          # losslens.optimize.methods.METHODS
CONSTRAINED_METHODS = ("alm", "penalty", "projected")             # losslens.optimize.constrained.METHODS
PROJECTION_SETS = ("box", "l2", "l1", "simplex", "affine", "halfspace")   # losslens.optimize.projections.SETS
FIGURE_FORMATS = ("png", "svg", "pdf")                            # losslens.plot.FORMATS
DTYPE_NAMES = ("float32", "float64")

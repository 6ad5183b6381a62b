"""Two-sided p-values of Student's t, fast at the degrees of freedom of a GWAS.

The linear kernels (:mod:`promise.gwas.fastlinear`) test millions of t statistics on
thousands of degrees of freedom; SciPy's ``stdtr`` is exact but slow there, Hill's
approximation (below) takes a ninth of its time and stays within a relative 2e-9 of it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

Array = np.ndarray[Any, Any]

#: degrees of freedom from which :func:`t_two_sided_p` uses Hill's approximation
HILL_MIN_DOF = 3000


def t_two_sided_p(t: Array, dof: int) -> Array:
    """P(|T| >= |t|) for Student's t on ``dof`` degrees of freedom.

    From :data:`HILL_MIN_DOF` degrees of freedom on, through the normal deviate of Hill's
    large-sample transform (G. W. Hill, 1970, ACM Algorithm 395: y = a log(1 + t^2/dof),
    a = dof - 1/2, and a short series in y / (48 a^2)): about a ninth of the time of SciPy's
    ``stdtr``, which the tests hold it to (relative error under 2e-9 for every p above
    1e-300 at 3,000 degrees of freedom, under 1e-10 at 4,996). Below, ``stdtr`` itself.
    An infinite ``t`` (a perfect fit) gives 0, NaN gives NaN."""
    if dof < HILL_MIN_DOF:
        result: Array = 2.0 * special.stdtr(dof, -np.abs(t))
        return result
    a = dof - 0.5
    b = 48.0 * a * a
    with np.errstate(over="ignore", invalid="ignore"):
        y = a * np.log1p(t * t / dof)
        series = (((-0.4 * y - 3.3) * y - 24.0) * y - 85.5) / (0.8 * y * y + 100.0 + b)
        z = ((series + y + 3.0) / b + 1.0) * np.sqrt(y)
    p: Array = 2.0 * special.ndtr(-z)
    p[np.isinf(t)] = 0.0
    return p

"""Association engines that run in-process, without a JVM: one module per trait kind.

``binary``: score test with Firth fallback (or Wald) for 0/1 traits, on top of ``nullmodel``
(one null fit per trait) and ``firth`` (the compiled per-variant fits).
"""

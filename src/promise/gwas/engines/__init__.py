"""Association engines that run in-process, without a JVM.

``binary``: the binary-trait engine (score test for every variant, Firth where the score p
is small, or Wald), its API; ``binaryresults``: its options and result arrays;
``nullmodel``: one null logistic fit per trait; ``firth``: the compiled fits (Firth or
plain), one or many variant-trait pairs per call.
"""

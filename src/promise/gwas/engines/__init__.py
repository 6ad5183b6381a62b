"""Association engines that run in-process, without a JVM.

``binary``: the binary-trait engine (score test for every variant, Firth where the score p
is small, or Wald), its API; ``binaryresults``: its options and result arrays;
``nullmodel``: one null logistic fit per trait; ``firth``: one compiled fit (Firth or
plain); ``pairs``: many variant-trait fits in one compiled call; ``smallmatrix``: the
fits' tiny linear algebra.
"""

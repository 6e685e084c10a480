"""Physical constants, in SI units, in one place (CODATA 2018 exact values)."""

#: Faraday constant F [C/mol].
FARADAY_C_PER_MOL = 96485.33212
#: Molar gas constant R [J/(mol K)].
GAS_CONSTANT_J_PER_MOL_K = 8.314462618

read_db /snapshot/ibex_core.odb
source /work/eco_iterative_timing_driven.tcl

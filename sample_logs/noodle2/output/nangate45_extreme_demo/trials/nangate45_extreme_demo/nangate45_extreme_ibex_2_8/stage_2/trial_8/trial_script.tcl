read_db /snapshot/ibex_core.odb
source /work/eco_timing_driven_placement.tcl

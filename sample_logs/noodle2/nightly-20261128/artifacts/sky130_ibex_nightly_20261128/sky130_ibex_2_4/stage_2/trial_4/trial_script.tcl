read_db /snapshot/ibex_core.odb
source /work/eco_aggressive_timing.tcl

read_db /snapshot/ibex_core.odb
source /work/eco_full_optimization.tcl

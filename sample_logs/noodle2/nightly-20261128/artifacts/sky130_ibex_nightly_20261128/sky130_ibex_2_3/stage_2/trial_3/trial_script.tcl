read_db /snapshot/ibex_core.odb
source /work/eco_multi_pass_timing.tcl

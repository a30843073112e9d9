read_db /snapshot/ibex_core.odb
source /work/eco_vt_swap.tcl

read_db /snapshot/ibex_core.odb
source /work/eco_cell_swap.tcl

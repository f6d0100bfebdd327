# one simulator variant: the padded loader copy (installed before the recording) runs with its variant's own arguments
"$LOADER" $LOADER_ARGS

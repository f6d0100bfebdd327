/* winrec.c - the growable item list of a vg_winrec (Windows record hand-off). */
#include <stdlib.h>

#include "vigil/winrec.h"

int vg_winrec_add(struct vg_winrec *rec, const char *name, size_t name_len,
		  const char *value, size_t value_len)
{
	if (rec->nitems == rec->cap) {
		size_t cap = rec->cap ? rec->cap * 2 : 32;
		struct vg_winrec_item *items = realloc(rec->items, cap * sizeof(*items));
		if (!items)
			return VG_ENOMEM;
		rec->items = items;
		rec->cap = cap;
	}
	rec->items[rec->nitems++] = (struct vg_winrec_item){
		.name = { name, name_len },
		.value = { value, value_len },
	};
	return 0;
}

void vg_winrec_clear(struct vg_winrec *rec)
{
	struct vg_winrec_item *items = rec->items;
	size_t cap = rec->cap;

	*rec = (struct vg_winrec){ 0 };
	rec->items = items;
	rec->cap = cap;
}

void vg_winrec_free_items(struct vg_winrec *rec)
{
	if (!rec)
		return;
	free(rec->items);
	rec->items = NULL;
	rec->nitems = rec->cap = 0;
}

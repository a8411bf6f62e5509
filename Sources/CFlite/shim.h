#include <flite/flite.h>

/* The slt voice's registration (flite ships no header for its voices). */
cst_voice *register_cmu_us_slt(const char *voxdir);

/* flite's feature setter is a macro-free function, but its cst_features type is opaque to Swift
   through the voice struct; this sets the voice's speaking rate. */
static inline void visor_flite_set_stretch(cst_voice *voice, float stretch) {
    feat_set_float(voice->features, "duration_stretch", stretch);
}

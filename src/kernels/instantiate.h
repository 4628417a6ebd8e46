// Internal to kernels/: explicit instantiations of the layer kernel templates of kernels.h for one scalar type,
// in the namespace where it is expanded (r1 for the dispatching entry points, r1::cpu for the CPU backend).
#pragma once
#include <cstddef>

#define R1_INSTANTIATE_LAYER_KERNELS(F)                                                                                             \
  template void rmsnorm_forward<F>(F*, F*, const F*, const F*, int, int, float);                                  \
  template void rmsnorm_backward<F>(F*, F*, const F*, const F*, const F*, const F*, int, int, bool);              \
  template void head_rmsnorm_forward<F>(F*, F*, const F*, const F*, int, int, int, int, float);                   \
  template void head_rmsnorm_backward<F>(F*, F*, const F*, const F*, const F*, const F*, int, int, int, int);     \
  template void rope_table<F>(F*, int, int, double);                                                              \
  template void rope_forward<F>(F*, const int*, const F*, int, int, int, int, int);                               \
  template void rope_backward<F>(F*, const int*, const F*, int, int, int, int, int);                              \
  template void attention_forward<F>(F*, F*, const F*, const F*, const F*, int, int, int, int, int, int, int, int, \
                                     bool, bool);                                                                  \
  template void attention_backward<F>(F*, F*, F*, const F*, const F*, const F*, const F*, const F*, int, int, int, \
                                      int, int, int, int, int, bool);                                              \
  template void swiglu_forward<F>(F*, const F*, int, int);                                                        \
  template void swiglu_backward<F>(F*, const F*, const F*, int, int);                                             \
  template void add_forward<F>(F*, const F*, const F*, size_t);                                                   \
  template void add_inplace<F>(F*, const F*, size_t);                                                             \
  template void embedding_forward<F>(F*, const int*, const F*, int, int);                                         \
  template void embedding_backward<F>(F*, const F*, const int*, int, int);                                        \
  template void logprob_forward<F>(F*, F*, F*, const F*, const int*, int, int, float);                            \
  template void logprob_backward<F>(F*, const F*, const F*, const F*, const F*, const int*, int, int, float);     \
  template void score_forward<F>(F*, const F*, const int*, const F*, int, int);                                   \
  template void score_backward<F>(F*, F*, const F*, const F*, const int*, const F*, int, int, int);

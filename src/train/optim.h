// Optimizers and schedules: AdamW (decoupled weight decay, bias correction; the update torch.optim.AdamW
// computes), plain SGD, global-norm gradient clipping, linear warmup + cosine decay. The state, schedule and files
// are here; the elementwise updates are kernels (kernels.h adamw_update, sgd_update, scale_inplace, sum_squares).
#pragma once
#include "model/transformer.h"
#include "core/options.h"

#include <string>
#include <vector>

namespace r1 {

struct OptimConfig {
  std::string name = "adamw";  // adamw | sgd
  float lr = 3e-4f;            // peak learning rate
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;
  float weight_decay = 0.1f;
  bool decay_all = false;      // false: decay 2-D tensors only (not norms or biases); true: every tensor (torch default)
  float momentum = 0.0f;       // sgd
  float grad_clip = 1.0f;      // global-norm clip; <= 0 disables
  long warmup_steps = 0;
  long total_steps = 0;        // for the cosine schedule; 0 = constant after warmup
  float min_lr_ratio = 0.1f;   // cosine floor as a fraction of lr
};

float lr_at(const OptimConfig& c, long step);  // step counts from 0
// Declares every OptimConfig field as `<prefix>.<field>` (e.g. optim.lr).
void declare_optim(OptionSet& o, OptimConfig& c, const std::string& prefix = "optim");

// Returns the global 2-norm before clipping; scales grads by clip_coefficient(norm, max_norm) when that is < 1.
float clip_grad_norm(float* grads, size_t n, float max_norm);
// max_norm/(norm+1e-6) when that is < 1 (as torch.nn.utils.clip_grad_norm_), else 1; 1 when max_norm <= 0 (off).
float clip_coefficient(float norm, float max_norm);
float grad_norm(const float* grads, size_t n);

class Optimizer {
 public:
  Optimizer(const OptimConfig& c, const std::vector<TensorSpec>& specs, size_t n);
  // One update of params from grads · grad_scale (the clipping coefficient) with learning rate lr; increments
  // step(). The scale is applied as a multiply of each gradient first: the bits of scaling them beforehand. adamw
  // only: sgd takes its gradients already scaled (grad_scale 1).
  void step(float* params, const float* grads, float lr, float grad_scale = 1.f);
  long steps() const { return t_; }
  // State for checkpoints: m and v (empty for sgd without momentum) and the step counter.
  BlockVector<float>& m() { return m_; }
  BlockVector<float>& v() { return v_; }
  void save(const std::string& path, const std::vector<TensorSpec>& specs) const;   // safetensors, atomic
  void load(const std::string& path, const std::vector<TensorSpec>& specs);
  const OptimConfig& config() const { return c_; }

 private:
  OptimConfig c_;
  BlockVector<float> m_, v_;  // core/aligned.h: huge pages for large blocks
  std::vector<std::pair<size_t, size_t>> decay_ranges_;  // [offset, offset+numel) that get weight decay
  long t_ = 0;
  size_t n_;
};

// One optimizer step on a model whose gradients were summed over `accum` micro-batches: average them, clip the
// global norm (config grad_clip), and step at the schedule's learning rate for `step`.
struct UpdateStats {
  float grad_norm = 0;  // before clipping
  float lr = 0;
};
UpdateStats optimizer_update(Optimizer& opt, Model& m, int accum, long step);

}  // namespace r1

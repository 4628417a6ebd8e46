#include "train/optim.h"
#include "core/check.h"
#include "formats/safetensors.h"
#include "kernels/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace r1 {

float lr_at(const OptimConfig& c, long step) {
  if (c.warmup_steps > 0 && step < c.warmup_steps) return c.lr * (float)(step + 1) / (float)c.warmup_steps;
  if (c.total_steps <= c.warmup_steps) return c.lr;
  double p = (double)(step - c.warmup_steps) / (double)(c.total_steps - c.warmup_steps);
  p = std::min(1.0, std::max(0.0, p));
  double cosv = 0.5 * (1.0 + std::cos(M_PI * p));
  return (float)(c.lr * (c.min_lr_ratio + (1.0 - c.min_lr_ratio) * cosv));
}

void declare_optim(OptionSet& o, OptimConfig& c, const std::string& p) {
  o.add(p + ".name", &c.name, "adamw | sgd");
  o.add(p + ".lr", &c.lr, "peak learning rate");
  o.add(p + ".beta1", &c.beta1, "AdamW beta1");
  o.add(p + ".beta2", &c.beta2, "AdamW beta2");
  o.add(p + ".eps", &c.eps, "AdamW epsilon");
  o.add(p + ".weight_decay", &c.weight_decay, "decoupled weight decay");
  o.add(p + ".decay_all", &c.decay_all, "decay every tensor (true) or only matrices (false)");
  o.add(p + ".momentum", &c.momentum, "SGD momentum");
  o.add(p + ".grad_clip", &c.grad_clip, "clip the global gradient norm to this (<= 0: off)");
  o.add(p + ".warmup_steps", &c.warmup_steps, "linear warmup steps");
  o.add(p + ".min_lr_ratio", &c.min_lr_ratio, "cosine floor as a fraction of lr (1: constant after warmup)");
}

float grad_norm(const float* g, size_t n) { return (float)std::sqrt(sum_squares(g, n)); }

float clip_coefficient(float norm, float max_norm) {
  if (max_norm <= 0) return 1.f;
  const float coef = max_norm / (norm + 1e-6f);
  return coef < 1.f ? coef : 1.f;
}

float clip_grad_norm(float* g, size_t n, float max_norm) {
  const float norm = grad_norm(g, n), coef = clip_coefficient(norm, max_norm);
  if (coef < 1.f) scale_inplace(g, coef, n);
  return norm;
}

Optimizer::Optimizer(const OptimConfig& c, const std::vector<TensorSpec>& specs, size_t n) : c_(c), n_(n) {
  R1_CHECK(c.name == "adamw" || c.name == "sgd", "optimizer.name: '", c.name, "' is unknown; expected adamw or sgd");
  if (c.name == "adamw") {
    m_.assign(n, 0.f);
    v_.assign(n, 0.f);
  } else if (c.momentum > 0) {
    m_.assign(n, 0.f);
  }
  for (const auto& s : specs)
    if (c.decay_all || s.matrix) decay_ranges_.push_back({s.offset, s.offset + s.numel});
  std::sort(decay_ranges_.begin(), decay_ranges_.end());  // adamw_update takes them sorted and disjoint
  for (size_t i = 1; i < decay_ranges_.size(); i++)
    R1_ASSERT(decay_ranges_[i - 1].second <= decay_ranges_[i].first);
}

void Optimizer::step(float* p, const float* g, float lr, float grad_scale) {
  t_++;
  const float wd = c_.weight_decay;
  // decoupled weight decay: p -= lr * wd * p  (applied first, as torch.optim.AdamW does; inside AdamW's pass)
  if (c_.name == "adamw") {
    const double bc1 = 1.0 - std::pow((double)c_.beta1, (double)t_), bc2 = 1.0 - std::pow((double)c_.beta2, (double)t_);
    AdamWStep s{c_.beta1, c_.beta2, c_.eps, (float)(lr / bc1), (float)std::sqrt(bc2), grad_scale};
    if (wd != 0.f) {
      s.decay = 1.f - lr * wd;
      s.decay_ranges = decay_ranges_.data();
      s.n_decay_ranges = decay_ranges_.size();
    }
    adamw_update(p, m_.data(), v_.data(), g, n_, s);
  } else {
    if (wd != 0.f)
      for (auto [a, b] : decay_ranges_) scale_inplace(p + a, 1.f - lr * wd, b - a);
    R1_CHECK(grad_scale == 1.f, "Optimizer::step: sgd takes gradients already scaled (clip_grad_norm), not grad_scale");
    sgd_update(p, m_.data(), g, n_, lr, c_.momentum, t_ == 1);
  }
}

void Optimizer::save(const std::string& path, const std::vector<TensorSpec>& specs) const {
  std::vector<TensorToWrite> ts;
  for (const auto& s : specs) {
    if (!m_.empty()) ts.push_back({"m." + s.name, s.shape, DType::F32, m_.data() + s.offset});
    if (!v_.empty()) ts.push_back({"v." + s.name, s.shape, DType::F32, v_.data() + s.offset});
  }
  write_safetensors(path, ts, DType::F32, {{"step", std::to_string(t_)}, {"optimizer", c_.name}});
}

void Optimizer::load(const std::string& path, const std::vector<TensorSpec>& specs) {
  SafeTensorsFile f(path);
  auto it = f.metadata().find("step");
  R1_CHECK(it != f.metadata().end(), path, ": optimizer state lacks metadata 'step'");
  t_ = std::stol(it->second);
  for (const auto& s : specs) {
    if (!m_.empty()) f.read_f32_into("m." + s.name, m_.data() + s.offset, s.numel);
    if (!v_.empty()) f.read_f32_into("v." + s.name, v_.data() + s.offset, s.numel);
  }
}

UpdateStats optimizer_update(Optimizer& opt, Model& m, int accum, long step) {
  const Model::Trainable t = m.trainable();  // the adapters with LoRA, else every parameter
  if (accum > 1) scale_inplace(t.grads, 1.f / accum, t.n);
  UpdateStats u;
  u.lr = lr_at(opt.config(), step);
  if (opt.config().name == "adamw") {
    // clipping: the norm here, the scaling inside the update (one pass over the gradients fewer; the same bits as
    // scaling them first). The gradients keep their unclipped values.
    u.grad_norm = grad_norm(t.grads, t.n);
    opt.step(t.params, t.grads, u.lr, clip_coefficient(u.grad_norm, opt.config().grad_clip));
  } else {
    u.grad_norm = clip_grad_norm(t.grads, t.n, opt.config().grad_clip);
    opt.step(t.params, t.grads, u.lr);
  }
  if (!m.has_lora()) m.params_changed();  // bf16: the copies are rewritten at the next forward (adapters are fp32)
  return u;
}

}  // namespace r1

// Test helper: every a[i] within atol + rtol·|b[i]| of the reference b[i] (the worst element is reported).
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

// max |a-b| / (atol + rtol*|b|) <= 1
inline void expect_allclose(const float* a, const std::vector<float>& b, float atol, float rtol, const std::string& what) {
  double worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < b.size(); i++) {
    double r = std::fabs(a[i] - b[i]) / (atol + rtol * std::fabs(b[i]));
    if (r > worst) worst = r, wi = i;
  }
  EXPECT_LE(worst, 1.0) << what << ": worst at " << wi << " got " << a[wi] << " want " << b[wi];
}

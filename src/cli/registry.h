// Subcommand registry. Each src/cli/cmd_*.cpp registers itself with a static R1_COMMAND; main() adds
// every registered command to the CLI11 app, so `r1 --help` lists them all.
#pragma once
#include "core/precision.h"

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace r1::cli {

struct Command {
  std::string name;
  std::string help;
  // Declares the subcommand's options on `sub` and returns the function to run after parsing.
  std::function<std::function<int()>(CLI::App* sub)> setup;
};

std::vector<Command>& registry();
// Adds one subcommand per stage kind (cli/cmd_stages.cpp); main() calls it before building the app.
void register_stage_commands();

// `--precision fp32|bf16` for a command that is not a stage (generate, logprobs, rm-score): sets the process default
// (core/precision.h) as it is parsed, before the command loads its model. Stage commands have it as a recipe field.
inline void add_precision_option(CLI::App* sub) {
  sub->add_option_function<std::string>(
         "--precision", [](const std::string& v) { set_default_precision(parse_precision(v, "--precision")); },
         kPrecisionHelp)
      ->check(CLI::IsMember({"fp32", "bf16"}));
  sub->add_option_function<std::string>(
         "--kv-dtype", [](const std::string& v) { set_default_kv_dtype(parse_kv_dtype(v, "--kv-dtype")); },
         kKvDtypeHelp)
      ->check(CLI::IsMember({"auto", "f32", "bf16"}));
}

struct Register {
  Register(std::string name, std::string help, std::function<std::function<int()>(CLI::App*)> setup) {
    registry().push_back({std::move(name), std::move(help), std::move(setup)});
  }
};

}  // namespace r1::cli

#define R1_CONCAT2(a, b) a##b
#define R1_CONCAT(a, b) R1_CONCAT2(a, b)
// Usage: R1_COMMAND("name", "help", [](CLI::App* sub) { ...options...; return [=]() { ...; return 0; }; });
#define R1_COMMAND(name, help, ...) \
  static ::r1::cli::Register R1_CONCAT(r1_cmd_, __LINE__)(name, help, __VA_ARGS__)

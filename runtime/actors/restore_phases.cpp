#include "actors/restore_phases.hpp"

#include "actors/instance_context.hpp"

#include <domus/model/domain_def.hpp>

#include <string>

namespace domus::runtime {

namespace {

// Phase 2: the driver learns every persistent definition (beside the live one of a
// reconnected domain).
void define_all(const instance_context& ctx, std::shared_ptr<restore_plan> plan,
                const driver_caller& drive, std::function<void()> done) {
  auto fn = DOMUS_DOMAIN_OP(ctx, define);
  auto* inst = ctx.inst;
  plan->pending = 1;
  for (size_t i = 0; i < plan->domains.size(); ++i) {
    auto& d = plan->domains[i];
    if (!d.persistent || !fn)
      continue;
    ++plan->pending;
    auto xml = std::make_shared<std::string>(
        model::format_domain(*d.persistent, model::secrets::keep));
    auto* existing = d.dom;
    drive(
        driver_op::define,
        [=](domus_complete_fn complete, void* user) {
          fn(inst, existing, xml->c_str(), complete, user);
        },
        [plan, i, done](driver_result& res) {
          auto& d = plan->domains[i];
          if (!res.ok() || (!d.dom && !res.dom))
            d.define_error = res.message.empty() ? "the driver refused" : res.message;
          else if (!d.dom)
            d.dom = res.dom;
          if (--plan->pending == 0)
            done();
        });
  }
  if (--plan->pending == 0)
    done();
}

} // namespace

void reconnect_then_define(const instance_context& ctx,
                           std::shared_ptr<restore_plan> plan, driver_caller drive,
                           std::function<void()> done) {
  // Phase 1: the driver takes back every domain that was active.
  auto fn = DOMUS_DOMAIN_OP(ctx, reconnect);
  auto* inst = ctx.inst;
  // Phase 2 once every reconnect is back.
  auto next = [&ctx, plan, drive, done] { define_all(ctx, plan, drive, done); };
  plan->pending = 1;
  for (size_t i = 0; i < plan->domains.size(); ++i) {
    auto& d = plan->domains[i];
    if (!d.status)
      continue;
    if (!fn) {
      d.reconnect_error = "the driver cannot reconnect domains";
      continue;
    }
    ++plan->pending;
    auto xml = std::make_shared<std::string>(d.status->live_xml);
    auto priv = std::make_shared<std::string>(d.status->private_data);
    drive(
        driver_op::reconnect,
        [=](domus_complete_fn complete, void* user) {
          fn(inst, xml->c_str(), {priv->data(), priv->size()}, complete, user);
        },
        [plan, i, next](driver_result& res) {
          auto& d = plan->domains[i];
          if (res.ok() && res.dom) {
            d.dom = res.dom;
            if (res.state)
              d.status->state = *res.state;
            if (res.private_data)
              d.status->private_data = *res.private_data;
          } else {
            d.reconnect_error = res.message.empty() ? "the driver refused" : res.message;
          }
          if (--plan->pending == 0)
            next();
        });
  }
  if (--plan->pending == 0)
    next();
}

} // namespace domus::runtime

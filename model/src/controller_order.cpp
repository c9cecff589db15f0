// The order libvirt keeps a domain's controllers in. Its parser inserts each controller
// it reads among those of its type: before the first with a greater index, else after
// the last of its type (always there when it has no index yet), else after every
// controller. Types thus stay together in the order they first appear, each sorted by
// index with ties as written. (The controllers it implies later it appends.)
#include "domain_rules.hpp"

#include <iterator>
#include <list>
#include <map>

namespace domus::model {

void order_controllers(xml_node& devices) {
  auto& k = devices.children;
  std::vector<size_t> at; // where the controllers are, in document order
  for (size_t i = 0; i < k.size(); ++i)
    if (!k[i].is_text && k[i].name == "controller")
      at.push_back(i);
  if (at.size() < 2)
    return;
  // Inserted one at a time into a list, as libvirt does, but each place found through a
  // map of the type's indexes instead of a scan, so that many controllers cost n log n.
  using place = std::list<size_t>::iterator;
  struct of_type {
    std::multimap<long, place> by_index; // equal indexes in list order (emplace's)
    place last;                          // the type's last controller in the list
  };
  std::list<size_t> order;
  std::map<std::string, of_type> types;
  for (size_t n = 0; n < at.size(); ++n) {
    const xml_node& c = k[at[n]];
    const std::string* type = c.attr("type");
    long index = attr_number(&c, "index"); // -1: none given
    auto [it, first] = types.try_emplace(type ? *type : std::string());
    of_type& t = it->second;
    place p;
    auto greater = index < 0 || first ? t.by_index.end() : t.by_index.upper_bound(index);
    if (first) {
      p = t.last = order.insert(order.end(), n);
    } else if (greater != t.by_index.end()) {
      p = order.insert(greater->second, n);
    } else {
      p = t.last = order.insert(std::next(t.last), n);
    }
    if (index >= 0)
      t.by_index.emplace(index, p);
  }
  size_t n = 0;
  bool in_order = true;
  for (size_t i : order)
    in_order = in_order && i == n++;
  if (in_order)
    return;
  std::vector<xml_node> moved;
  moved.reserve(at.size());
  for (size_t i : order)
    moved.push_back(std::move(k[at[i]]));
  for (size_t i = 0; i < at.size(); ++i)
    k[at[i]] = std::move(moved[i]);
}

} // namespace domus::model

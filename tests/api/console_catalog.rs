//! The console's catalog pages over HTTP: program settings, tiers, earning rules with the dry
//! run, and rewards. Forms are read out of the pages and sent as a browser would; what changed is
//! checked through `/v1`.

mod program;
mod rewards;
mod rules;
mod tiers;

/// `&amp;` and the other escapes minijinja writes, undone.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let at = tag.find(&marker)? + marker.len();
    let rest = &tag[at..];
    Some(unescape(&rest[..rest.find('"')?]))
}

/// What a browser would send for the form with `id` in `html`: its inputs (ticked boxes only,
/// no buttons), the selected option of each select, and its textareas.
pub fn form_fields(html: &str, id: &str) -> Vec<(String, String)> {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no form {id}"));
    let form = &html[start..start + html[start..].find("</form>").expect("the form ends")];
    let mut fields = Vec::new();
    let mut at = 0;
    while let Some(found) = form[at..].find('<').map(|i| i + at) {
        at = found + 1;
        let rest = &form[found..];
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        if tag.starts_with("<input ") {
            let Some(name) = attr(tag, "name") else {
                continue;
            };
            let kind = attr(tag, "type").unwrap_or_else(|| "text".into());
            if kind == "checkbox" && !tag.contains(" checked") {
                continue;
            }
            fields.push((name, attr(tag, "value").unwrap_or_else(|| "on".into())));
        } else if tag.starts_with("<select ") {
            let name = attr(tag, "name").expect("a named select");
            let body = &rest[..rest.find("</select>").expect("the select ends")];
            let options: Vec<&str> = body.split("<option").skip(1).collect();
            let chosen = options
                .iter()
                .find(|o| o[..o.find('>').unwrap_or(0)].contains(" selected"))
                .or(options.first())
                .and_then(|o| attr(o, "value"))
                .unwrap_or_default();
            fields.push((name, chosen));
        } else if tag.starts_with("<textarea ") {
            let name = attr(tag, "name").expect("a named textarea");
            let body = &rest[tag.len() + 1..];
            let text = &body[..body.find("</textarea>").expect("the textarea ends")];
            fields.push((name, unescape(text)));
        }
    }
    fields
}

/// Sets `name` to `value` (replacing what the form had, or adding it).
pub fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(k, _)| k != name);
    fields.push((name.to_owned(), value.to_owned()));
}

/// Unticks the box `name`.
pub fn untick(fields: &mut Vec<(String, String)>, name: &str) {
    fields.retain(|(k, _)| k != name);
}

/// The pairs as `send_form` takes them.
pub fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// The message shown next to the field `name`, if any.
pub fn problem_at(html: &str, name: &str) -> Option<String> {
    let marker = format!("<p class=\"error\" id=\"e-{name}\">");
    let at = html.find(&marker)? + marker.len();
    let rest = &html[at..];
    Some(unescape(&rest[..rest.find("</p>")?]))
}

/// The `action` of the first form in `html` posting under `prefix`.
pub fn action_in(html: &str, prefix: &str) -> String {
    let marker = format!("action=\"{prefix}");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no form posting to {prefix}"))
        + 8;
    let rest = &html[at..];
    unescape(&rest[..rest.find('"').expect("the action ends")])
}

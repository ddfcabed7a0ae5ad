import r4 from 'fhirpath/fhir-context/r4';

/**
 * The FHIR R4 model fhirpath.js uses, and facts derived from it once at load time.
 * Both engines share it, so "which member is a choice type" has one answer.
 */
export const R4_MODEL = r4;

const model = r4 as unknown as {
  choiceTypePaths: Record<string, string[]>;
  path2Type: Record<string, string>;
  pathsDefinedElsewhere: Record<string, string>;
  availableTypes: Set<string>;
};

/**
 * Last segments of every choice element (`value`, `deceased`, `effective`, ...).
 * A member with one of these names may be stored as `valueQuantity` etc.,
 * which plain property access would miss.
 * @see FHIR R4, "Choice of Data Types" (https://hl7.org/fhir/R4/formats.html#choice)
 */
export const CHOICE_ELEMENT_NAMES: ReadonlySet<string> = new Set(
  Object.keys(model.choiceTypePaths).map((path) => path.slice(path.lastIndexOf('.') + 1)),
);

/** Whether `name` is a type the model knows (what fhirpath.js accepts as a type specifier). */
export function isKnownType(name: string): boolean {
  return model.availableTypes.has(name);
}

/**
 * The type path of member `name` of an element at `path`: a type name for
 * data types (`HumanName`), the element path for backbone elements
 * (`ExplanationOfBenefit.item`), undefined when the model does not know it.
 * This is the `base` fhirpath.js needs to evaluate an expression on a raw element.
 */
export function memberTypePath(path: string | undefined, name: string): string | undefined {
  if (path === undefined) return undefined;
  let full = `${path}.${name}`;
  full = model.pathsDefinedElsewhere[full] ?? full;
  const type = model.path2Type[full];
  if (type === undefined) return undefined;
  if (type === 'BackboneElement' || type === 'Element') return full;
  if (type === 'System.String') return name === 'id' ? 'id' : full === 'Extension.url' ? 'uri' : 'string';
  return type.startsWith('System.') ? undefined : type;
}

"""Writes notices/templates/{en,es}/notification/victim/*: one table of wording, three channels.

Run from the repository root after changing the wording below; the files it
writes are committed. Templates use only the victim context's fields.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "notices" / "templates"

# name: (en subject, en sentence, es subject, es sentence). {A} = appointment, {C} = case number.
WORDING = {
    "registered": ("You are registered for notifications", "You are now registered to receive notifications about case {C}. We will contact you the way you chose.",
                   "Está inscrito/a para recibir avisos", "Ya está inscrito/a para recibir avisos sobre el caso {C}. Nos comunicaremos con usted por el medio que eligió."),
    "opted_out": ("You will no longer receive notifications", "As you asked, you will no longer receive notifications about case {C}. You can register again at any time.",
                  "Ya no recibirá avisos", "Como lo pidió, ya no recibirá avisos sobre el caso {C}. Puede volver a inscribirse en cualquier momento."),
    "release_scheduled": ("Release date scheduled", "The person in case {C} is scheduled to be released on {A}.",
                          "Fecha de liberación programada", "La persona del caso {C} tiene programada su liberación para el {A}."),
    "release_scheduled_advance": ("Reminder: upcoming release", "Reminder: the person in case {C} is scheduled to be released on {A}.",
                                  "Recordatorio: liberación próxima", "Recordatorio: la persona del caso {C} tiene programada su liberación para el {A}."),
    "released": ("Release from custody", "The person in case {C} was released from custody on {A}.",
                 "Liberación de custodia", "La persona del caso {C} fue liberada de custodia el {A}."),
    "transfer": ("Transfer", "The person in case {C} was transferred on {A}.",
                 "Traslado", "La persona del caso {C} fue trasladada el {A}."),
    "escape": ("URGENT: escape", "URGENT: the person in case {C} escaped on {A}. If you feel unsafe, call 911 now.",
               "URGENTE: fuga", "URGENTE: la persona del caso {C} se fugó el {A}. Si se siente en peligro, llame al 911 ahora."),
    "recapture": ("Back in custody", "The person in case {C} was taken back into custody on {A}.",
                  "De nuevo bajo custodia", "La persona del caso {C} fue puesta de nuevo bajo custodia el {A}."),
    "death": ("Death of the person in your case", "We are writing to let you know that the person in case {C} died on {A}.",
              "Fallecimiento de la persona de su caso", "Le escribimos para informarle que la persona del caso {C} falleció el {A}."),
    "parole_hearing": ("Parole hearing scheduled", "A parole hearing in case {C} is scheduled for {A}. You have the right to be heard: call us if you want to take part.",
                       "Audiencia de libertad condicional", "Hay una audiencia de libertad condicional del caso {C} programada para el {A}. Tiene derecho a ser escuchado/a: llámenos si desea participar."),
    "parole_hearing_advance": ("Reminder: parole hearing", "Reminder: the parole hearing in case {C} is on {A}. You have the right to be heard.",
                               "Recordatorio: audiencia de libertad condicional", "Recordatorio: la audiencia de libertad condicional del caso {C} es el {A}. Tiene derecho a ser escuchado/a."),
    "violation_hearing": ("Violation hearing scheduled", "A supervision violation hearing in case {C} is scheduled for {A}.",
                          "Audiencia por incumplimiento", "Hay una audiencia por incumplimiento de la supervisión del caso {C} programada para el {A}."),
    "violation_hearing_advance": ("Reminder: violation hearing", "Reminder: the supervision violation hearing in case {C} is on {A}.",
                                  "Recordatorio: audiencia por incumplimiento", "Recordatorio: la audiencia por incumplimiento de la supervisión del caso {C} es el {A}."),
    "court_hearing": ("Court hearing scheduled", "A court hearing in case {C} is scheduled for {A}.",
                      "Audiencia judicial programada", "Hay una audiencia judicial del caso {C} programada para el {A}."),
    "court_hearing_advance": ("Reminder: court hearing", "Reminder: the court hearing in case {C} is on {A}.",
                              "Recordatorio: audiencia judicial", "Recordatorio: la audiencia judicial del caso {C} es el {A}."),
    "furlough": ("Furlough", "The person in case {C} was granted a furlough starting {A}.",
                 "Permiso de salida", "La persona del caso {C} recibió un permiso de salida a partir del {A}."),
    "work_release": ("Work release", "The person in case {C} starts work release on {A}.",
                     "Programa de trabajo", "La persona del caso {C} comienza un programa de trabajo fuera de custodia el {A}."),
    "absconded": ("Absconded from supervision", "The person in case {C} has stopped reporting to supervision (since {A}). If you feel unsafe, call 911.",
                  "Incumplimiento de la supervisión", "La persona del caso {C} dejó de presentarse a la supervisión (desde el {A}). Si se siente en peligro, llame al 911."),
    "discharged": ("Discharged from supervision", "The person in case {C} was discharged from supervision on {A}.",
                   "Fin de la supervisión", "La persona del caso {C} terminó su periodo de supervisión el {A}."),
    "letter_held": ("A letter is being held for you", "A letter addressed to you is being held for you. It stays with us unless and until you choose to receive it; there is no deadline. If you would like to receive it, call us.",
                    "Hay una carta guardada para usted", "Hay una carta dirigida a usted que guardamos para usted. Permanecerá con nosotros a menos que usted decida recibirla, y no hay fecha límite. Si desea recibirla, llámenos."),
}

CORRECTION = {
    "en": ("Correction to an earlier notice",
           "{% if previous %}Correction: an earlier notice about case {{ case_number }} gave the time as {{ previous }}. "
           "The correct time is {{ appointment }}.{% else %}Please disregard an earlier notice about case "
           "{{ case_number }} for {{ appointment }}: it was sent in error.{% endif %}"),
    "es": ("Corrección de un aviso anterior",
           "{% if previous %}Corrección: un aviso anterior sobre el caso {{ case_number }} indicaba la fecha {{ previous }}. "
           "La fecha correcta es {{ appointment }}.{% else %}Por favor, no tome en cuenta un aviso anterior sobre el caso "
           "{{ case_number }} para el {{ appointment }}: se envió por error.{% endif %}"),
}

FRAME = {
    "en": dict(dear="Dear {{ recipient_name }},", details="Details: {{ details }}",
               why="You receive this because you registered for notifications. To change what you receive, or to stop, call {{ agency_name }} at {{ agency_phone }}.",
               sent="Sent {{ sent_on }}", sms_call="Call {{ agency_phone }}"),
    "es": dict(dear="Estimado/a {{ recipient_name }}:", details="Detalles: {{ details }}",
               why="Recibe este aviso porque se inscribió para recibir avisos. Para cambiar lo que recibe, o para dejar de recibirlos, llame a {{ agency_name }} al {{ agency_phone }}.",
               sent="Enviado el {{ sent_on }}", sms_call="Llame al {{ agency_phone }}"),
}


def fill(sentence: str) -> str:
    return sentence.replace("{A}", "{{ appointment }}").replace("{C}", "{{ case_number }}")


def write(lang: str, name: str, subject: str, sentence: str) -> None:
    f = FRAME[lang]
    folder = ROOT / lang / "notification" / "victim"
    folder.mkdir(parents=True, exist_ok=True)
    details = "{% if details %}" + f["details"] + "\n\n{% endif %}"
    (folder / f"{name}.email").write_text(
        f"Subject: {subject} ({{{{ case_number }}}})\n\n{f['dear']}\n\n{sentence}\n\n{details}{f['why']}\n\n"
        f"{{{{ agency_name }}}}\n{f['sent']}\n")
    (folder / f"{name}.letter").write_text(
        f"{{{{ agency_name }}}}\n{f['sent']}\n\n{f['dear']}\n\n{sentence}\n\n{details}{f['why']}\n")
    (folder / f"{name}.sms").write_text(f"{{{{ agency_name }}}}: {sentence} {f['sms_call']}\n")


def main() -> None:
    for name, (en_subject, en, es_subject, es) in WORDING.items():
        write("en", name, en_subject, fill(en))
        write("es", name, es_subject, fill(es))
    for lang, (subject, sentence) in CORRECTION.items():
        write(lang, "correction", subject, sentence)


if __name__ == "__main__":
    main()
